"""Demo-only tools that `bin/run` starts beside the app; the runtime package never imports them."""
