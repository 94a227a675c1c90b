"""Renderers: turn events and results into what the user sees. Import `events`, never `engine`."""
