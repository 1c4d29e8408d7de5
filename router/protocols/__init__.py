"""Front-door protocols: each module turns its wire format into a CanonicalRequest and renders
canonical events back. Every module offers the same names:

  PROTOCOL, STREAM_MEDIA_TYPE
  parse(body: dict) -> CanonicalRequest            (raises ClientRequestError)
  render(resp: CanonicalResponse, req) -> bytes    (a whole non-streaming answer)
  render_stream(events, req) -> AsyncIterator[bytes]  (ends with an error frame on RouterError)
  error_body(error_type: str, message: str) -> bytes
"""
