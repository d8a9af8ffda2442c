"""A real iMIS over its REST API: the wire codec, the entity shapes, the client and the target."""
