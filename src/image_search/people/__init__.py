"""People domain: named persons (assignment and suggestions come with issue 3)."""
