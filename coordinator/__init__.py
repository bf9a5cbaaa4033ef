"""The coordinator: the HTTP and WebSocket service that takes exports and reports progress."""
