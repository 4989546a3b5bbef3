"""Search backends other than the built-in Whoosh index: each in a subpackage, each optional."""
