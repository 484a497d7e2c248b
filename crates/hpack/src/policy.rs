//! Encoder knobs: when to Huffman-code strings and which representation to pick.

/// When the encoder Huffman-codes string literals (RFC 7541 §5.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HuffmanMode {
    /// Huffman-code a string only when that is strictly shorter than the plain octets
    /// (the default).
    #[default]
    Shorter,
    /// Always Huffman-code (as in RFC 7541 §C.4 and §C.6).
    Always,
    /// Never Huffman-code (as in RFC 7541 §C.3 and §C.5).
    Never,
}

/// Which literal representation the encoder uses for fields it cannot send as an index.
///
/// In every policy, [`Header::sensitive`](crate::Header::sensitive) fields are sent as
/// "literal never indexed" (RFC 7541 §6.2.3, §7.1.3) and never matched against table entries
/// with values, and a field that the table could never hold is not indexed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IndexPolicy {
    /// The default heuristic, documented on [`Encoder`](crate::Encoder#indexing-policy).
    #[default]
    Default,
    /// Add every non-sensitive literal to the dynamic table ("literal with incremental
    /// indexing", RFC 7541 §6.2.1), as the examples of RFC 7541 Appendix C do.
    All,
    /// Never add anything to the dynamic table ("literal without indexing", RFC 7541 §6.2.2);
    /// static table matches are still used.
    None,
}
