#ifndef SCRYPTEX_CLINUX_H
#define SCRYPTEX_CLINUX_H

/* Linux calls that Glibc's Swift module does not export: epoll, eventfd, accept4. Thin
   wrappers, so Swift code sees plain functions and constants. */

#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#define SCRYPTEX_EPOLLIN 0x001u
#define SCRYPTEX_EPOLLOUT 0x004u
#define SCRYPTEX_EPOLLERR 0x008u
#define SCRYPTEX_EPOLLHUP 0x010u
#define SCRYPTEX_EPOLLRDHUP 0x2000u
#define SCRYPTEX_EPOLLET (1u << 31)

typedef struct {
    uint32_t events;
    uint64_t data;
} scryptex_epoll_event;

int scryptex_epoll_create(void);
int scryptex_epoll_add(int epoll, int descriptor, uint32_t events, uint64_t data);
int scryptex_epoll_modify(int epoll, int descriptor, uint32_t events, uint64_t data);
int scryptex_epoll_remove(int epoll, int descriptor);
/* Waits up to timeout_ms (-1: forever); fills `events` and returns how many, or -1. */
int scryptex_epoll_wait(int epoll, scryptex_epoll_event *events, int capacity, int timeout_ms);

int scryptex_eventfd_create(void);
int scryptex_eventfd_signal(int descriptor);
int scryptex_eventfd_drain(int descriptor);

/* Names the calling thread (at most 15 bytes are kept), as top -H and /proc show it. */
void scryptex_name_thread(const char *name);

/* accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC. */
int scryptex_accept(int listener, struct sockaddr *address, socklen_t *length);

#endif
