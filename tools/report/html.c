/* report/html.c — `--html FILE`: report/page.html (compiled in with .incbin, so the command
 * needs no data file) with the report's JSON object in place of its marker. */
#include "report.h"

#include <string.h>

/* MW_REPORT_PAGE: the page's absolute path, set by CMake (which also rebuilds this file
 * when the page changes). */
__asm__(".section .rodata\n"
        ".global mw_report_page\n"
        "mw_report_page:\n"
        ".incbin \"" MW_REPORT_PAGE "\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char mw_report_page[];

#define MARKER "/*MESHWARD_DATA*/"

int rep_write_html(struct rep *r, FILE *out) {
    const char *at = strstr(mw_report_page, MARKER);
    if (!at) return -1;
    fwrite(mw_report_page, 1, (size_t)(at - mw_report_page), out);
    if (rep_write_json(r, out) != 0) return -1;
    fputs(at + strlen(MARKER), out);
    return ferror(out) ? -1 : 0;
}
