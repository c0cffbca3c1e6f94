/*
 * taskdb 1.0 -> 1.1 (ALTER EXTENSION taskdb UPDATE TO '1.1').
 *
 * The fresh 1.1 install script, taskdb--1.1.sql, is built by the Makefile as
 * taskdb--1.0.sql followed by this file, so a fresh install and an updated
 * 1.0 database run the same statements; test/scripts/upgrade.sh checks that
 * they end up with the same objects, grants and comments.
 *
 * Sections, one per change:
 */
\echo Use "ALTER EXTENSION taskdb UPDATE TO '1.1'" to load this file. \quit
