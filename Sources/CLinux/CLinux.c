#define _GNU_SOURCE
#include "CLinux.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

int scryptex_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int control(int epoll, int operation, int descriptor, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    return epoll_ctl(epoll, operation, descriptor, &event);
}

int scryptex_epoll_add(int epoll, int descriptor, uint32_t events, uint64_t data) {
    return control(epoll, EPOLL_CTL_ADD, descriptor, events, data);
}

int scryptex_epoll_modify(int epoll, int descriptor, uint32_t events, uint64_t data) {
    return control(epoll, EPOLL_CTL_MOD, descriptor, events, data);
}

int scryptex_epoll_remove(int epoll, int descriptor) {
    return epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, NULL);
}

int scryptex_epoll_wait(int epoll, scryptex_epoll_event *events, int capacity, int timeout_ms) {
    struct epoll_event buffer[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epoll, buffer, capacity, timeout_ms);
    for (int index = 0; index < count; index++) {
        events[index].events = buffer[index].events;
        events[index].data = buffer[index].data.u64;
    }
    return count;
}

int scryptex_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int scryptex_eventfd_signal(int descriptor) {
    uint64_t one = 1;
    return (int)write(descriptor, &one, sizeof one);
}

int scryptex_eventfd_drain(int descriptor) {
    uint64_t value;
    return (int)read(descriptor, &value, sizeof value);
}

int scryptex_accept(int listener, struct sockaddr *address, socklen_t *length) {
    return accept4(listener, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

void scryptex_name_thread(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    pthread_setname_np(pthread_self(), truncated);
}
