"""The database edge: connections with every driver, pools and engines that outlive a
password, the option guard over what callers pass to drivers, and the refreshing passfile.
The only part of the library that imports database drivers."""
