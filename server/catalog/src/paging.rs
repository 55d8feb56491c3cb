//! Pages of a listing, the same for every backend: the cap on a page's size, and the total a
//! short page already proves.

use cadenza_api::{Page, PageRequest};

/// Largest page any listing returns, whatever the caller asks for.
pub(crate) const MAX_PAGE: u32 = 500;

/// A page request with its limit capped at [`MAX_PAGE`].
pub(crate) fn clamp(page: PageRequest) -> PageRequest {
    PageRequest {
        limit: page.limit.min(MAX_PAGE),
        offset: page.offset,
    }
}

pub(crate) fn page<T>(items: Vec<T>, total: u64, req: PageRequest) -> Page<T> {
    Page {
        items,
        total,
        limit: req.limit,
        offset: req.offset,
        total_is_lower_bound: false,
    }
}

pub(crate) fn empty_page<T>(req: PageRequest) -> Page<T> {
    page(Vec::new(), 0, clamp(req))
}

/// The total of a listing when the page already proves it: a short page that is not past
/// the end holds every remaining match. `None` means it must be counted.
pub(crate) fn total_from_page(len: usize, req: PageRequest) -> Option<u64> {
    let short = (len as u64) < u64::from(req.limit);
    (short && (len > 0 || req.offset == 0)).then(|| u64::from(req.offset) + len as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_pages_prove_their_total() {
        let req = |limit, offset| PageRequest { limit, offset };
        assert_eq!(total_from_page(3, req(10, 0)), Some(3));
        assert_eq!(total_from_page(3, req(10, 20)), Some(23));
        // Empty past the start: the end may be anywhere before the offset.
        assert_eq!(total_from_page(0, req(10, 20)), None);
        assert_eq!(total_from_page(0, req(10, 0)), Some(0));
        assert_eq!(total_from_page(10, req(10, 0)), None);
        assert_eq!(clamp(req(10_000, 5)), req(MAX_PAGE, 5));
    }
}
