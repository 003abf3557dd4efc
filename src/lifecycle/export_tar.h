/* export_tar.h — the POSIX tar format of the export archive (pax interchange format, POSIX.1-2001):
 * a writer of entry headers and a streaming reader, both over plain bytes so that the writer can
 * feed any sink and the reader any source (a file, a fuzzer's input).
 *
 * Only what an export needs: regular files. A name that is not short ASCII (Japanese keys) or a
 * size of 8 GiB and more goes into a pax extended header ('x') before the ustar header, which every
 * tar since GNU tar 1.14 and bsdtar understands; the ustar fields then hold a truncated ASCII
 * stand-in. */
#ifndef KSM_EXPORT_TAR_H
#define KSM_EXPORT_TAR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define KSM_TAR_BLOCK 512
#define KSM_TAR_NAME_MAX 4096 /* longest path the reader accepts (pax path) */

/* Appends the header block(s) of a regular file (mode 0644) to out. */
void ksm_tar_file_header(struct ksm_buf *out, const char *name, uint64_t size, int64_t mtime_s);
/* Zero bytes that pad a file of size bytes to the next block: 0..511. */
size_t ksm_tar_pad(uint64_t size);
/* The end of the archive: two zero blocks (1024 bytes). */
void ksm_tar_end(struct ksm_buf *out);

/* The reader: feed it the archive in pieces of any size. For each regular file it calls begin,
 * then data for its bytes (in pieces), then end. Directories and pax global headers are skipped;
 * any other entry type (links, devices) is an error, so an archive cannot plant a link on
 * extraction through a verified file. A callback returning non-zero stops the reader. */
struct ksm_tar_cbs {
    int (*begin)(void *arg, const char *name, uint64_t size);
    int (*data)(void *arg, const char *p, size_t n);
    int (*end)(void *arg);
    void *arg;
};

struct ksm_tar_reader {
    struct ksm_tar_cbs cb;
    int state;
    unsigned char block[KSM_TAR_BLOCK];
    size_t have;        /* bytes of block collected */
    uint64_t left;      /* data bytes of the current entry still to come */
    size_t pad;         /* padding bytes still to skip */
    bool in_file;       /* the current data goes to the callbacks */
    struct ksm_buf pax; /* the current pax header's records */
    char *pax_path;     /* from the last 'x' header, for the next entry */
    int64_t pax_size;   /* -1: none */
    int zero_blocks;
    char err[160]; /* why the archive was refused */
};

void ksm_tar_reader_init(struct ksm_tar_reader *t, const struct ksm_tar_cbs *cb);
void ksm_tar_reader_free(struct ksm_tar_reader *t);
/* 0, or -1 with t->err set (malformed, or a callback refused); no further feeding after -1. */
int ksm_tar_reader_feed(struct ksm_tar_reader *t, const char *p, size_t n);
/* After the last byte: 0 when the end-of-archive blocks were seen, else -1 ("truncated"). */
int ksm_tar_reader_finish(struct ksm_tar_reader *t);

#endif
