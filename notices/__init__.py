"""Notice templates and their rendering: pure functions of a template and a context."""
