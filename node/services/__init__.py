"""Business logic behind the API routes (routes only translate HTTP to these calls)."""
