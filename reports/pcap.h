/*
 * pcap.h - simulated byte streams as a pcap file that Wireshark and tshark read: each
 * connection as TCP over IPv4 with coherent sequence numbers (a handshake, the data, the
 * FIN), one address per virtual host, timestamps from the virtual clock.
 */
#ifndef REPORTS_PCAP_H
#define REPORTS_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pcap_writer pcap_writer;

/* Start a capture on f (the caller owns f). NULL if out of memory. */
pcap_writer *pcap_open(FILE *f);
/* A connection opened: the connecting host's address index, the accepting host's, the port. */
void pcap_syn(pcap_writer *w, int64_t t_us, uint64_t conn, uint32_t client, uint32_t server,
	      uint16_t port);
/* Bytes delivered on a connection; side 0 is client to server. */
void pcap_data(pcap_writer *w, int64_t t_us, uint64_t conn, int side, const uint8_t *d, size_t n);
void pcap_fin(pcap_writer *w, int64_t t_us, uint64_t conn, int side);
/* Frees the writer (not the FILE). Returns the number of frames written. */
size_t pcap_close(pcap_writer *w);

#endif
