// Package query answers questions about the ledger without loading it:
// the -where language (Cond, ParseWhere, and typed constructors such as
// Eq for code that builds a query), List with filters, sort and limit,
// short ids resolved by prefix or suffix (Find, ResolveID), records with
// the ledger's status (Records), and a sweep's newest sweep.started.
//
// List reads the ledger backwards in blocks, decodes only the fields a
// query names, keeps the best Limit runs in a heap and decodes fully only
// the runs it returns, so that its memory follows the runs that overlap in
// time, not the ledger's length. The ledger's format and its fold are the
// ledger package's; this package reads them.
package query
