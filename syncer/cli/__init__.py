"""The command line: a click group whose commands each live in their own module."""
