/*
 * tmpdir.h — removing a unit test's temporary directory (what `rm -rf` did through system()).
 */
#ifndef SP_TEST_TMPDIR_H
#define SP_TEST_TMPDIR_H

/* Removes dir and everything below it; 0 on success, -1 (and a line on stderr) otherwise. */
int tmpdir_remove(const char *dir);

#endif
