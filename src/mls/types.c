/* types.c — owned byte strings and the release of every message struct. */
#include "mls/types.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

sp_err mls_bytes_set(mls_bytes *b, const void *p, size_t n)
{
    /* malloc(0) may return NULL; keep one byte so a NULL data means "empty" only */
    uint8_t *d = malloc(n ? n : 1);
    if (!d)
        return SP_ERR_NOMEM;
    if (n)
        memcpy(d, p, n);
    free(b->data);
    b->data = d;
    b->len = n;
    return SP_OK;
}

void mls_bytes_free(mls_bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

void mls_bytes_free_secret(mls_bytes *b)
{
    if (b->data && b->len)
        OPENSSL_cleanse(b->data, b->len);
    mls_bytes_free(b);
}

const mls_extension *mls_extensions_find(const mls_extension_list *l, uint16_t type)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].type == type)
            return &l->v[i];
    return NULL;
}

sp_err mls_extensions_add(mls_extension_list *l, uint16_t type, const void *data, size_t len)
{
    mls_extension *v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return SP_ERR_NOMEM;
    l->v = v;
    memset(&v[l->n], 0, sizeof v[l->n]);
    v[l->n].type = type;
    if (mls_bytes_set(&v[l->n].data, data, len))
        return SP_ERR_NOMEM;
    l->n++;
    return SP_OK;
}

void mls_u16_list_free(mls_u16_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void mls_extension_list_free(mls_extension_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        mls_bytes_free(&l->v[i].data);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void mls_credential_free(mls_credential *c)
{
    mls_bytes_free(&c->identity);
    for (size_t i = 0; i < c->n_certs; i++)
        mls_bytes_free(&c->certs[i]);
    free(c->certs);
    memset(c, 0, sizeof *c);
}

void mls_capabilities_free(mls_capabilities *c)
{
    mls_u16_list_free(&c->versions);
    mls_u16_list_free(&c->cipher_suites);
    mls_u16_list_free(&c->extensions);
    mls_u16_list_free(&c->proposals);
    mls_u16_list_free(&c->credentials);
}

void mls_required_capabilities_free(mls_required_capabilities *r)
{
    mls_u16_list_free(&r->extension_types);
    mls_u16_list_free(&r->proposal_types);
    mls_u16_list_free(&r->credential_types);
}

void mls_external_senders_free(mls_external_senders *e)
{
    for (size_t i = 0; i < e->n; i++) {
        mls_bytes_free(&e->v[i].signature_key);
        mls_credential_free(&e->v[i].credential);
    }
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

void mls_hpke_ciphertext_free(mls_hpke_ciphertext *c)
{
    mls_bytes_free(&c->kem_output);
    mls_bytes_free(&c->ciphertext);
}

void mls_psk_id_free(mls_psk_id *p)
{
    mls_bytes_free_secret(&p->psk_id);
    mls_bytes_free_secret(&p->group_id);
    mls_bytes_free_secret(&p->nonce);
    memset(p, 0, sizeof *p);
}

void mls_leaf_node_free(mls_leaf_node *l)
{
    mls_bytes_free(&l->encryption_key);
    mls_bytes_free(&l->signature_key);
    mls_credential_free(&l->credential);
    mls_capabilities_free(&l->capabilities);
    mls_bytes_free(&l->parent_hash);
    mls_extension_list_free(&l->extensions);
    mls_bytes_free(&l->signature);
    memset(l, 0, sizeof *l);
}

void mls_parent_node_free(mls_parent_node *p)
{
    mls_bytes_free(&p->encryption_key);
    mls_bytes_free(&p->parent_hash);
    free(p->unmerged_leaves);
    memset(p, 0, sizeof *p);
}

void mls_tree_node_free(mls_tree_node *n)
{
    mls_leaf_node_free(&n->leaf);
    mls_parent_node_free(&n->parent);
    n->type = MLS_NODE_BLANK;
}

void mls_ratchet_tree_free(mls_ratchet_tree *t)
{
    for (size_t i = 0; i < t->n; i++)
        mls_tree_node_free(&t->nodes[i]);
    free(t->nodes);
    t->nodes = NULL;
    t->n = 0;
}

void mls_key_package_free(mls_key_package *kp)
{
    mls_bytes_free(&kp->init_key);
    mls_leaf_node_free(&kp->leaf_node);
    mls_extension_list_free(&kp->extensions);
    mls_bytes_free(&kp->signature);
    mls_bytes_free(&kp->raw);
    memset(kp, 0, sizeof *kp);
}

void mls_update_path_node_free(mls_update_path_node *n)
{
    mls_bytes_free(&n->encryption_key);
    for (size_t i = 0; i < n->n_secrets; i++)
        mls_hpke_ciphertext_free(&n->secrets[i]);
    free(n->secrets);
    memset(n, 0, sizeof *n);
}

void mls_update_path_free(mls_update_path *p)
{
    mls_leaf_node_free(&p->leaf_node);
    for (size_t i = 0; i < p->n; i++)
        mls_update_path_node_free(&p->nodes[i]);
    free(p->nodes);
    memset(p, 0, sizeof *p);
}

void mls_reinit_free(mls_reinit *r)
{
    mls_bytes_free(&r->group_id);
    mls_extension_list_free(&r->extensions);
    memset(r, 0, sizeof *r);
}

void mls_proposal_free(mls_proposal *p)
{
    mls_key_package_free(&p->add);
    mls_leaf_node_free(&p->update);
    mls_psk_id_free(&p->psk);
    mls_reinit_free(&p->reinit);
    mls_bytes_free(&p->external_init);
    mls_extension_list_free(&p->gce);
    memset(p, 0, sizeof *p);
}

void mls_proposal_or_ref_free(mls_proposal_or_ref *p)
{
    mls_proposal_free(&p->proposal);
    mls_bytes_free(&p->reference);
    p->type = 0;
}

void mls_commit_free(mls_commit *c)
{
    for (size_t i = 0; i < c->n_proposals; i++)
        mls_proposal_or_ref_free(&c->proposals[i]);
    free(c->proposals);
    mls_update_path_free(&c->path);
    memset(c, 0, sizeof *c);
}

void mls_group_context_free(mls_group_context *g)
{
    mls_bytes_free(&g->group_id);
    mls_bytes_free(&g->tree_hash);
    mls_bytes_free(&g->confirmed_transcript_hash);
    mls_extension_list_free(&g->extensions);
    memset(g, 0, sizeof *g);
}

void mls_group_info_free(mls_group_info *g)
{
    mls_group_context_free(&g->group_context);
    mls_extension_list_free(&g->extensions);
    mls_bytes_free(&g->confirmation_tag);
    mls_bytes_free(&g->signature);
    memset(g, 0, sizeof *g);
}

void mls_group_secrets_free(mls_group_secrets *g)
{
    mls_bytes_free_secret(&g->joiner_secret);
    mls_bytes_free_secret(&g->path_secret);
    for (size_t i = 0; i < g->n_psks; i++)
        mls_psk_id_free(&g->psks[i]);
    free(g->psks);
    memset(g, 0, sizeof *g);
}

void mls_encrypted_group_secrets_free(mls_encrypted_group_secrets *e)
{
    mls_bytes_free(&e->new_member);
    mls_hpke_ciphertext_free(&e->encrypted_group_secrets);
}

void mls_welcome_free(mls_welcome *w)
{
    for (size_t i = 0; i < w->n_secrets; i++)
        mls_encrypted_group_secrets_free(&w->secrets[i]);
    free(w->secrets);
    mls_bytes_free(&w->encrypted_group_info);
    memset(w, 0, sizeof *w);
}

void mls_framed_content_free(mls_framed_content *c)
{
    mls_bytes_free(&c->group_id);
    mls_bytes_free(&c->authenticated_data);
    mls_bytes_free_secret(&c->application_data);
    mls_proposal_free(&c->proposal);
    mls_commit_free(&c->commit);
    memset(c, 0, sizeof *c);
}

void mls_auth_data_free(mls_auth_data *a)
{
    mls_bytes_free(&a->signature);
    mls_bytes_free(&a->confirmation_tag);
}

void mls_authenticated_content_free(mls_authenticated_content *a)
{
    mls_framed_content_free(&a->content);
    mls_auth_data_free(&a->auth);
    a->wire_format = 0;
}

void mls_public_message_free(mls_public_message *m)
{
    mls_framed_content_free(&m->content);
    mls_auth_data_free(&m->auth);
    mls_bytes_free(&m->membership_tag);
}

void mls_private_message_free(mls_private_message *m)
{
    mls_bytes_free(&m->group_id);
    mls_bytes_free(&m->authenticated_data);
    mls_bytes_free(&m->encrypted_sender_data);
    mls_bytes_free(&m->ciphertext);
    memset(m, 0, sizeof *m);
}

void mls_message_free(mls_message *m)
{
    mls_public_message_free(&m->public_message);
    mls_private_message_free(&m->private_message);
    mls_welcome_free(&m->welcome);
    mls_group_info_free(&m->group_info);
    mls_key_package_free(&m->key_package);
    m->version = m->wire_format = 0;
}
