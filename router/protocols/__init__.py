"""Front-door protocols: each module turns its wire format into a CanonicalRequest and renders
canonical events back. Every module offers the same names:

  PROTOCOL, STREAM_MEDIA_TYPE
  parse(body: dict) -> CanonicalRequest            (raises ClientRequestError)
  render(resp: CanonicalResponse, req) -> bytes    (a whole non-streaming answer)
  StreamRenderer(req): .feed(events: list[Event]) -> bytes   (one group of events, written at once)
                      .error(err: RouterError) -> bytes     (the error frame that ends a failed stream)
                      .finished                              (the Finish was rendered: the stream is whole)
  error_body(error_type: str, message: str) -> bytes
"""
