"""The edges to the outside: the message bus (dramatiq) and the object store (S3, local)."""
