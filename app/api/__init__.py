"""The JSON API (/api/v1): tickets, customer actions, the mapping, admin views and the OpenAPI document."""
