/*
 * sequencer.c - numbers committed changes and events in commit order: a
 * pass (services/db/sequence.c) in a transaction of its own.
 */
#include "changes/changes.h"

#include <stdio.h>
#include "core/text.h"

typedef struct {
    int skip_locked;
    int numbered;
} pass_t;

static int pass_tx(fg_db_t *db, void *arg)
{
    pass_t *p = arg;
    return fg_db_sequence_pass_in(db, p->skip_locked, &p->numbered);
}

int fg_changes_sequence(fg_db_t *db, int skip_locked)
{
    pass_t p = {skip_locked, 0};
    int rc = fg_db_tx(db, pass_tx, &p);
    return rc != 0 ? rc : p.numbered;
}

int fg_changes_pending(fg_db_t *db)
{
    int rc = fg_db_sequence_waiting(db);
    fg_db_end(db);
    return rc;
}

int fg_changes_catch_up(fg_db_t *db)
{
    int rc = fg_changes_pending(db);
    if (rc <= 0)
        return rc;
    rc = fg_changes_sequence(db, 0);
    return rc < 0 ? rc : 0;
}
