"""One module per sample kind, each registering its renderer with
``gan_lab.outputs.base.register_renderer``; gan_lab.outputs imports them all on first use."""
