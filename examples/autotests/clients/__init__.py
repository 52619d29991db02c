"""
The API clients: one per part of the API, and the factories that build them.
"""
