"""The one JSM gateway: transport, throttle, parsing, typed values, errors and webhook normalisation."""
