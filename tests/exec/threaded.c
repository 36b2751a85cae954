/*
 * threaded.c - a "broker" that starts a thread: target exec must refuse it, naming the call
 * (tests/exec.sh). It would listen on 1883 after the thread, so only the refusal stops it.
 */
#include <pthread.h>
#include <stdio.h>

static void *idle(void *arg)
{
	return arg;
}

int main(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, idle, NULL) != 0) {
		fprintf(stderr, "threaded: pthread_create failed\n");
		return 1;
	}
	pthread_join(t, NULL);
	fprintf(stderr, "threaded: the thread ran, which target exec must not allow\n");
	return 0;
}
