//! Charts drawn by the server as SVG (no script, allowed by the console's CSP).
