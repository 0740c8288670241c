"""Help and information pages, the forms to download and the browser notice."""
