"""Field types and the coercion of raw input values into them."""
