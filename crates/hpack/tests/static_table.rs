//! The static table matches the text of RFC 7541 Appendix A (copied into tests/data).

use ropewalk_hpack::{STATIC_LEN, STATIC_TABLE};

#[test]
fn static_table_matches_rfc_text() {
    let text = include_str!("data/rfc7541-appendix-a.txt");
    let mut rows = vec![];
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() != 5 {
            continue;
        }
        let Ok(index) = cells[1].parse::<usize>() else {
            continue;
        };
        rows.push((index, cells[2].to_owned(), cells[3].to_owned()));
    }
    assert_eq!(rows.len(), 61);
    assert_eq!(STATIC_LEN, 61);
    for (index, name, value) in rows {
        let (n, v) = STATIC_TABLE[index - 1];
        assert_eq!((n, v), (name.as_bytes(), value.as_bytes()), "index {index}");
    }
}
