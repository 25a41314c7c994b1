/*
 * net.h - is a TCP service up?  Used before rolling back AtriumCore or
 * AtriumIntegrator, which need the AR System server.
 *
 * tcp_probe() resolves HOST without DNS (a static binary has no resolver
 * plug-ins): a numeric IPv4/IPv6 address, "localhost", or a name in
 * /etc/hosts.  1: something accepted the connection; 0: refused or timed
 * out (why says which); -1: the name could not be resolved.
 */
#ifndef ZDT_NET_H
#define ZDT_NET_H

#include "util.h"

int tcp_probe(const char *host, unsigned port, int timeout_ms, struct sbuf *why);

#endif
