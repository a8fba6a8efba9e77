"""Low/high-resolution pairs (batch kind ``super-resolution``): bundled photos, DIV2K, the
benchmark sets, any folder."""
