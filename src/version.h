/* The one place the version lives; the Makefile reads it from here. */
#ifndef TS_VERSION_H
#define TS_VERSION_H

#define TS_VERSION "0.1.0"

#endif
