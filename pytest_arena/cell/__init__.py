"""One cell's run: workspace → agent (through the router) → scoring → row; the cell folder's files,
the hand-off to the controller, the results store and provenance."""
