"""Two image domains (batch kind ``two domains``): paired and unpaired translation sets, in the
official folder layouts, the published archives, and two embedded digit sets."""
