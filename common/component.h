/*
 * component.h - the Remedy components zdt knows, their spellings and their
 * dependency chain.
 *
 *     AR                                     depends on nothing
 *     AtriumCore        (cmdb)               depends on AR
 *     AtriumIntegrator  (ai)                 depends on AtriumCore, AR
 *
 * Sets of components are bit masks (1u << COMP_x).  component_order() lists
 * a set top-down (AtriumIntegrator, AtriumCore, AR): the order of rollback.
 */
#ifndef ZDT_COMPONENT_H
#define ZDT_COMPONENT_H

enum { COMP_AR, COMP_ATRIUMCORE, COMP_ATRIUMINTEGRATOR, COMP_N };

#define COMP_ALL ((1u << COMP_N) - 1)

/* canonical name: "AR", "AtriumCore", "AtriumIntegrator" */
const char *component_name(int c);
/* case-insensitive name or alias; -1 if unknown */
int component_parse(const char *s);
/* like component_parse() but dies with exit 2 listing the valid names */
int component_arg(const char *opt, const char *s);
/* c and every component it depends on */
unsigned component_chain(int c);
/* the components of mask, top-down; returns how many */
int component_order(unsigned mask, int out[COMP_N]);
/* "AR, AtriumCore, AtriumIntegrator" (aliases in parentheses) */
const char *component_valid_names(void);

#endif
