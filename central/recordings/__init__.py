"""Recording search across every site (issue 19): central fans out to each site's index."""
