/* supply_text.h — how the supply-chain register compares and cleans Japanese text: the digits of
 * 法人番号 and 通番 (full-width to ASCII), maker names (NFKC, case, 株式会社 before or after,
 * spaces) and model numbers (NFKC, case, spaces and hyphens), and trimming (ASCII and ideographic
 * spaces). NFKC comes from GNU libunistring: the width and compatibility tables are Unicode's, not
 * ours. Every function returns malloc'd text the caller frees. */
#ifndef KSM_SUPPLY_TEXT_H
#define KSM_SUPPLY_TEXT_H
#include <stdbool.h>
#include <stddef.h>

/* Leading and trailing ASCII white space and U+3000 removed. */
char *ksm_supply_trim(const char *s);
/* For number cells: full-width digits become ASCII; spaces (ASCII, U+3000) and hyphens (ASCII,
 * full-width, minus, dashes) are dropped. NULL when anything else is left that is not a digit —
 * the caller then reads the cell as text. */
char *ksm_supply_digits(const char *s);
/* NFKC, lower case, company designators (株式会社, (株), 有限会社, Co., Ltd., Inc., ...) dropped
 * wherever they stand, spaces and punctuation dropped: "㈱ＡＢＣ" and "ABC 株式会社" compare equal.
 * NULL when s is not valid UTF-8. */
char *ksm_supply_norm_name(const char *s);
/* NFKC, lower case, spaces, hyphens and underscores dropped; '*' and '?' kept (patterns). */
char *ksm_supply_norm_model(const char *s);
/* Does the normalised model match the normalised pattern (fnmatch: * and ?)? */
bool ksm_supply_model_match(const char *pattern, const char *model);

#endif
