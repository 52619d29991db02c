"""
An API-client layer for the course API, as autotest projects write one.

`clients` holds one thin client per part of the API and the factories that build
them for a user; `config` says where the API is.
"""
