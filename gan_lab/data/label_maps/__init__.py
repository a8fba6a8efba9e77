"""Label maps and their photos (batch kind ``label maps``): SPADE's published sets in their own
folder layouts, and the embedded texture scenes."""
