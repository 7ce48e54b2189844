// SPDX-License-Identifier: GPL-2.0
/*
 * pattern SIZE: SIZE bytes (a number, or with a K or M suffix) of fresh
 * pseudo-random data on stdout, for the VM tests' write patterns.  The
 * seed comes from getrandom(), so every call gives other data, as
 * /dev/urandom would; the stream is xoshiro256**, which under TCG is
 * many times faster than reading /dev/urandom.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static uint64_t s[4];

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

int main(int argc, char **argv)
{
	unsigned long long size, done = 0;
	uint64_t buf[8192];
	char *end;

	if (argc != 2) {
		fprintf(stderr, "usage: pattern SIZE[K|M]\n");
		return 2;
	}
	errno = 0;
	size = strtoull(argv[1], &end, 10);
	if (*end == 'K' || *end == 'k')
		size <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		size <<= 20, end++;
	if (errno || end == argv[1] || *end) {
		fprintf(stderr, "pattern: bad size '%s'\n", argv[1]);
		return 2;
	}
	if (getrandom(s, sizeof(s), 0) != sizeof(s)) {
		perror("pattern: getrandom");
		return 1;
	}
	s[0] |= 1;	/* never all zero */
	while (done < size) {
		size_t n = sizeof(buf), i, off = 0;

		if (size - done < n)
			n = size - done;
		for (i = 0; i < sizeof(buf) / sizeof(buf[0]); i++)
			buf[i] = next();
		while (off < n) {
			ssize_t w = write(STDOUT_FILENO, (char *)buf + off, n - off);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				perror("pattern: write");
				return 1;
			}
			off += w;
		}
		done += n;
	}
	return 0;
}
