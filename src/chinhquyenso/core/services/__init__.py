"""Core use-cases. The only code that changes core data; each function is one transaction."""
