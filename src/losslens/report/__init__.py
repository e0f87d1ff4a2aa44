"""HTML report: the tour of D2L 11.1-11.2 as computed checks, and a page for any saved result."""
