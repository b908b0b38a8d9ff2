def drop_trailing_slash_aliases(endpoints, **kwargs):
    """Document each endpoint once, without the trailing-slash alias."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]
