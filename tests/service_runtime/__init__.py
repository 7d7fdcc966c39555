"""What both services share that is not the library: settings, limits, docs."""
