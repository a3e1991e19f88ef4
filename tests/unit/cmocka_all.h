/* cmocka_all.h — the includes every CMocka test needs, in the order cmocka.h requires. */
#ifndef MW_TEST_CMOCKA_ALL_H
#define MW_TEST_CMOCKA_ALL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
