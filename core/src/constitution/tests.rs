//! Expected values are computed by hand from DOMAIN.md section 1 (arithmetic in comments),
//! never taken from the code's output.

use super::*;

/// Answers with item `n` (1-based) set to `v` for each pair, all other items 1.
fn ones_with(set: &[(u8, u8)]) -> [u8; ITEM_COUNT] {
    let mut a = [1u8; ITEM_COUNT];
    for &(item, v) in set {
        a[usize::from(item) - 1] = v;
    }
    a
}

fn ok(a: &[u8; ITEM_COUNT]) -> Assessment {
    assess(a).expect("valid answers")
}

// ---- mapping (DOMAIN.md 1.4) ----

#[test]
fn items_match_domain_table() {
    use Constitution::*;
    // DOMAIN.md 1.4, row by row.
    assert_eq!(Qixu.items(), &[2, 3, 4, 14]);
    assert_eq!(Yangxu.items(), &[11, 12, 13, 29]);
    assert_eq!(Yinxu.items(), &[10, 21, 26, 31]);
    assert_eq!(Tanshi.items(), &[9, 16, 28, 32]);
    assert_eq!(Shire.items(), &[23, 25, 27, 30]);
    assert_eq!(Xueyu.items(), &[19, 22, 24, 33]);
    assert_eq!(Qiyu.items(), &[5, 6, 7, 8]);
    assert_eq!(Tebing.items(), &[15, 17, 18, 20]);
    assert_eq!(Pinghe.items(), &[1, 2, 4, 5, 13]);
    assert_eq!(PINGHE_REVERSED_ITEMS, [2, 4, 5, 13]);
    // Score ranges: biased 4–20, 平和 5–25.
    for c in Constitution::BIASED {
        assert_eq!((c.min_score(), c.max_score()), (4, 20), "{c:?}");
    }
    assert_eq!((Pinghe.min_score(), Pinghe.max_score()), (5, 25));
}

#[test]
fn every_item_2_to_33_belongs_to_exactly_one_biased_type() {
    for item in 2u8..=33 {
        let owners: Vec<_> = Constitution::BIASED
            .into_iter()
            .filter(|c| c.items().contains(&item))
            .collect();
        assert_eq!(owners.len(), 1, "item {item}: {owners:?}");
    }
    // Item 1 is used only by 平和质.
    assert!(Constitution::BIASED
        .into_iter()
        .all(|c| !c.items().contains(&1)));
    assert!(Constitution::Pinghe.items().contains(&1));
}

#[test]
fn reverse_items_count_forward_for_their_biased_owner() {
    // DOMAIN.md 1.4: 2, 4 → 气虚; 5 → 气郁; 13 → 阳虚.
    assert!(Constitution::Qixu.items().contains(&2));
    assert!(Constitution::Qixu.items().contains(&4));
    assert!(Constitution::Qiyu.items().contains(&5));
    assert!(Constitution::Yangxu.items().contains(&13));
}

// ---- whole-form cases ----

#[test]
fn all_ones() {
    // 平和 = item1 1 + (6−1)×4 = 21; each biased = 1×4 = 4 (≤ 8 → 否).
    // 21 ≥ 17 and max other 4 ≤ 8 → 平和 是.
    let a = ok(&[1; 33]);
    assert_eq!(a.scores(), [21, 4, 4, 4, 4, 4, 4, 4, 4]);
    assert_eq!(a.verdict(Constitution::Pinghe), Verdict::Yes);
    for c in Constitution::BIASED {
        assert_eq!(a.verdict(c), Verdict::No);
    }
    let only_pinghe: ConstitutionSet = [Constitution::Pinghe].into_iter().collect();
    assert_eq!(a.identified(), only_pinghe);
    assert_eq!(a.primary(), only_pinghe);
    assert!(!a.needs_recollection());
    assert!(!a.has_contradiction());
}

#[test]
fn all_fives() {
    // 平和 = 5 + (6−5)×4 = 9 → 否; each biased = 5×4 = 20 ≥ 11 → 是.
    let a = ok(&[5; 33]);
    assert_eq!(a.scores(), [9, 20, 20, 20, 20, 20, 20, 20, 20]);
    let mut expected = [Verdict::Yes; 9];
    expected[0] = Verdict::No;
    assert_eq!(a.verdicts(), expected);
    // All eight biased types tie at 20: all are primary (physician decides).
    assert_eq!(a.primary().bits(), 0b1_1111_1110);
    assert_eq!(a.identified().bits(), 0b1_1111_1110);
    // 阴虚 and 阳虚 both 是 → re-check.
    let pairs: Vec<_> = a.contradictions().collect();
    assert_eq!(pairs, [(Constitution::Yinxu, Constitution::Yangxu)]);
    assert!(!a.needs_recollection());
}

#[test]
fn all_threes() {
    // 平和 = 3 + (6−3)×4 = 15 < 17 → 否; each biased = 12 ≥ 11 → 是.
    let a = ok(&[3; 33]);
    assert_eq!(a.scores(), [15, 12, 12, 12, 12, 12, 12, 12, 12]);
    assert_eq!(a.verdict(Constitution::Pinghe), Verdict::No);
    for c in Constitution::BIASED {
        assert_eq!(a.verdict(c), Verdict::Yes);
    }
}

#[test]
fn reverse_scoring_trap_item_2() {
    // Item 2 = 5, all else 1.
    // 气虚 = 5 + 1 + 1 + 1 = 8 → 否.
    // 平和 = 1 + (6−5) + (6−1)×3 = 1 + 1 + 15 = 17; max other = 8 ≤ 8 → 是.
    let a = ok(&ones_with(&[(2, 5)]));
    assert_eq!(a.score(Constitution::Qixu), 8);
    assert_eq!(a.score(Constitution::Pinghe), 17);
    assert_eq!(a.verdict(Constitution::Qixu), Verdict::No);
    assert_eq!(a.verdict(Constitution::Pinghe), Verdict::Yes);
}

#[test]
fn reverse_scoring_each_item() {
    // Answer 4 on one reversed item, all else 1: the owner gets 4 + 3 = 7, 平和 gets
    // 1 + (6−4) + 5×3 = 18.
    for (item, owner) in [
        (2, Constitution::Qixu),
        (4, Constitution::Qixu),
        (5, Constitution::Qiyu),
        (13, Constitution::Yangxu),
    ] {
        let a = ok(&ones_with(&[(item, 4)]));
        assert_eq!(a.score(owner), 7, "item {item}");
        assert_eq!(a.score(Constitution::Pinghe), 18, "item {item}");
    }
    // Item 1 counts forward only for 平和: 5 + 5×4 = 25, no biased type changes.
    let a = ok(&ones_with(&[(1, 5)]));
    assert_eq!(a.scores(), [25, 4, 4, 4, 4, 4, 4, 4, 4]);
}

// ---- biased bands (DOMAIN.md 1.5) ----

/// All items 1 except `c`'s four items, which sum to `sum` (4..=20).
fn biased_sum(c: Constitution, sum: u8) -> [u8; ITEM_COUNT] {
    let mut a = [1u8; ITEM_COUNT];
    let mut extra = sum - 4;
    for &item in c.items() {
        let add = extra.min(4);
        a[usize::from(item) - 1] = 1 + add;
        extra -= add;
    }
    assert_eq!(extra, 0);
    a
}

#[test]
fn biased_band_edges() {
    // ≥ 11 是; 9–10 倾向是; ≤ 8 否.
    let cases = [
        (4, Verdict::No),
        (8, Verdict::No),
        (9, Verdict::Tendency),
        (10, Verdict::Tendency),
        (11, Verdict::Yes),
        (20, Verdict::Yes),
    ];
    for c in Constitution::BIASED {
        for (sum, expected) in cases {
            let a = ok(&biased_sum(c, sum));
            assert_eq!(a.score(c), sum, "{c:?} {sum}");
            assert_eq!(a.verdict(c), expected, "{c:?} {sum}");
        }
    }
    assert_eq!((BIASED_YES_MIN, BIASED_TENDENCY_MIN), (11, 9));
}

// ---- 平和质 rule (DOMAIN.md 1.5) ----

/// 平和 = 17 and 阳虚 = 8: item 1 = 1, item 13 = 5 → 平和 = 1 + 5 + 5 + 5 + (6−5) = 17,
/// 阳虚 = 1 + 1 + 5 + 1 = 8. Then 血瘀 (19, 22, 24, 33; not a 平和 item) is raised to
/// `xueyu` (4..=20).
fn pinghe17(xueyu: u8) -> [u8; ITEM_COUNT] {
    let mut a = biased_sum(Constitution::Xueyu, xueyu);
    a[12] = 5;
    a
}

/// As [`pinghe17`] with item 2 = 2 too: 平和 = 1 + (6−2) + 5 + 5 + 1 = 16; 气虚 = 2+1+1+1 = 5.
fn pinghe16(xueyu: u8) -> [u8; ITEM_COUNT] {
    let mut a = pinghe17(xueyu);
    a[1] = 2;
    a
}

#[test]
fn pinghe_threshold_edges() {
    // 平和 17, max other = max(阳虚 8, 血瘀 x).
    for (xueyu, expected) in [
        (4, Verdict::Yes),           // max 8 ≤ 8 → 是
        (8, Verdict::Yes),           // max 8 ≤ 8 → 是
        (9, Verdict::BasicallyYes),  // 9 ≤ 10 → 基本是
        (10, Verdict::BasicallyYes), // 10 ≤ 10 → 基本是
        (11, Verdict::No),           // 11 > 10 → 否
    ] {
        let a = ok(&pinghe17(xueyu));
        assert_eq!(a.score(Constitution::Pinghe), 17);
        assert_eq!(a.score(Constitution::Yangxu), 8);
        assert_eq!(a.score(Constitution::Xueyu), xueyu);
        assert_eq!(a.verdict(Constitution::Pinghe), expected, "xueyu {xueyu}");
    }
    // 平和 16 < 17 → 否 whatever the others.
    for xueyu in [4, 8, 9, 10, 11] {
        let a = ok(&pinghe16(xueyu));
        assert_eq!(a.score(Constitution::Pinghe), 16);
        assert_eq!(
            a.verdict(Constitution::Pinghe),
            Verdict::No,
            "xueyu {xueyu}"
        );
    }
}

#[test]
fn pinghe_maximum_with_others_10_and_11() {
    // Item 1 = 5, reversed items 1: 平和 = 5 + 20 = 25.
    // 湿热 (23, 25, 27, 30) = 10 → 基本是; = 11 → 否 (11 > 10), and 湿热 is 是.
    let mut a10 = biased_sum(Constitution::Shire, 10);
    a10[0] = 5;
    let r = ok(&a10);
    assert_eq!(r.score(Constitution::Pinghe), 25);
    assert_eq!(r.verdict(Constitution::Pinghe), Verdict::BasicallyYes);
    let mut a11 = biased_sum(Constitution::Shire, 11);
    a11[0] = 5;
    let r = ok(&a11);
    assert_eq!(r.verdict(Constitution::Pinghe), Verdict::No);
    assert_eq!(r.verdict(Constitution::Shire), Verdict::Yes);
}

#[test]
fn pinghe_comparison_reading_is_at_most() {
    // DOMAIN.md "Confidence / disagreements": use ≤ 8 / ≤ 10.
    assert_eq!(PINGHE_OTHERS_COMPARISON, OthersComparison::AtMost);
    assert_eq!(
        (
            PINGHE_MIN,
            PINGHE_YES_OTHERS_MAX,
            PINGHE_BASICALLY_OTHERS_MAX
        ),
        (17, 8, 10)
    );
    assert!(OthersComparison::AtMost.admits(8, 8));
    assert!(!OthersComparison::LessThan.admits(8, 8));
    assert!(OthersComparison::LessThan.admits(7, 8));
}

#[test]
fn pinghe_rule_under_both_readings() {
    use OthersComparison::*;
    // ≤ reading: 8 → 是, 10 → 基本是, 11 → 否.
    assert_eq!(pinghe_verdict(17, 8, AtMost), Verdict::Yes);
    assert_eq!(pinghe_verdict(17, 10, AtMost), Verdict::BasicallyYes);
    assert_eq!(pinghe_verdict(17, 11, AtMost), Verdict::No);
    assert_eq!(pinghe_verdict(16, 4, AtMost), Verdict::No);
    // < reading: 7 → 是, 8 → 基本是 (8 < 10 but not < 8), 9 → 基本是, 10 → 否.
    assert_eq!(pinghe_verdict(17, 7, LessThan), Verdict::Yes);
    assert_eq!(pinghe_verdict(17, 8, LessThan), Verdict::BasicallyYes);
    assert_eq!(pinghe_verdict(17, 9, LessThan), Verdict::BasicallyYes);
    assert_eq!(pinghe_verdict(17, 10, LessThan), Verdict::No);
}

// ---- input validation ----

#[test]
fn out_of_range_answers() {
    let mut a = [3u8; 33];
    a[0] = 0;
    assert_eq!(
        assess(&a),
        Err(ConstitutionError::AnswerOutOfRange { item: 1, value: 0 })
    );
    let mut a = [3u8; 33];
    a[32] = 6;
    assert_eq!(
        assess(&a),
        Err(ConstitutionError::AnswerOutOfRange { item: 33, value: 6 })
    );
    // The first offending item is reported.
    let mut a = [3u8; 33];
    a[9] = 255;
    a[4] = 7;
    assert_eq!(
        assess(&a),
        Err(ConstitutionError::AnswerOutOfRange { item: 5, value: 7 })
    );
    let e = ConstitutionError::AnswerOutOfRange { item: 33, value: 6 };
    assert_eq!(e.to_string(), "answer 6 to item 33 is outside 1..=5");
}

// ---- primary, contradictions, recollection (DOMAIN.md 1.5 form rules) ----

#[test]
fn primary_is_the_highest_score_with_ties() {
    // 痰湿 12, 湿热 12, 特禀 11: all 是; highest 12 is shared → {痰湿, 湿热}.
    let mut a = [1u8; 33];
    for item in [9, 16, 28, 32] {
        a[item - 1] = 3; // 痰湿 = 3 + 3 + 3 + 3 = 12
    }
    for item in [23, 25, 27, 30] {
        a[item - 1] = 3; // 湿热 = 12
    }
    for (item, v) in [(15, 3), (17, 3), (18, 3), (20, 2)] {
        a[item - 1] = v; // 特禀 = 3 + 3 + 3 + 2 = 11
    }
    let r = ok(&a);
    assert_eq!(r.score(Constitution::Tanshi), 12);
    assert_eq!(r.score(Constitution::Shire), 12);
    assert_eq!(r.score(Constitution::Tebing), 11);
    let primary: Vec<_> = r.primary().iter().collect();
    assert_eq!(primary, [Constitution::Tanshi, Constitution::Shire]);
    let identified: Vec<_> = r.identified().iter().collect();
    assert_eq!(
        identified,
        [
            Constitution::Tanshi,
            Constitution::Shire,
            Constitution::Tebing
        ]
    );
    // 平和 = 21 but max other 12 > 10 → 否.
    assert_eq!(r.verdict(Constitution::Pinghe), Verdict::No);
}

#[test]
fn primary_tendency_beats_pinghe_basically_yes() {
    // 平和 17 with 血瘀 9 (倾向是): 平和 基本是, primary = {血瘀}.
    let r = ok(&pinghe17(9));
    assert_eq!(r.verdict(Constitution::Pinghe), Verdict::BasicallyYes);
    assert_eq!(r.verdict(Constitution::Xueyu), Verdict::Tendency);
    let p: Vec<_> = r.primary().iter().collect();
    assert_eq!(p, [Constitution::Xueyu]);
    let i: Vec<_> = r.identified().iter().collect();
    assert_eq!(i, [Constitution::Pinghe, Constitution::Xueyu]);
}

#[test]
fn primary_prefers_higher_tendency_over_lower() {
    // 气郁 (5..8) = 10 倾向是 and 血瘀 = 9 倾向是 → primary {气郁}.
    let mut a = biased_sum(Constitution::Xueyu, 9);
    for (item, v) in [(6, 4), (7, 4)] {
        a[item - 1] = v; // 气郁 = 1 + 4 + 4 + 1 = 10
    }
    let r = ok(&a);
    assert_eq!(r.score(Constitution::Qiyu), 10);
    let p: Vec<_> = r.primary().iter().collect();
    assert_eq!(p, [Constitution::Qiyu]);
}

#[test]
fn contradiction_requires_both_yes() {
    // 阴虚 (10, 21, 26, 31) = 11 是; 阳虚 (11, 12, 29; 13 left 1) raised.
    let base = biased_sum(Constitution::Yinxu, 11);
    let mut both = base;
    for (item, v) in [(11, 4), (12, 4), (29, 2)] {
        both[item - 1] = v; // 阳虚 = 4 + 4 + 1 + 2 = 11 → 是
    }
    let r = ok(&both);
    assert_eq!(r.score(Constitution::Yangxu), 11);
    assert!(r.has_contradiction());
    assert_eq!(
        r.contradictions().collect::<Vec<_>>(),
        [(Constitution::Yinxu, Constitution::Yangxu)]
    );
    let mut tendency = base;
    for (item, v) in [(11, 4), (12, 4), (29, 1)] {
        tendency[item - 1] = v; // 阳虚 = 4 + 4 + 1 + 1 = 10 → 倾向是: not flagged
    }
    let r = ok(&tendency);
    assert_eq!(r.verdict(Constitution::Yangxu), Verdict::Tendency);
    assert!(!r.has_contradiction());
    assert_eq!(
        CONTRADICTORY_PAIRS,
        [(Constitution::Yinxu, Constitution::Yangxu)]
    );
}

#[test]
fn nothing_determinable_needs_recollection() {
    // Item 1 = 1; items 2, 4, 5 = 2; item 13 = 3; all else 1.
    // 平和 = 1 + 4 + 4 + 4 + 3 = 16 → 否.
    // 气虚 = 2 + 1 + 2 + 1 = 6; 气郁 = 2 + 1 + 1 + 1 = 5; 阳虚 = 1 + 1 + 3 + 1 = 6; others 4.
    let a = ok(&ones_with(&[(2, 2), (4, 2), (5, 2), (13, 3)]));
    assert_eq!(a.scores(), [16, 6, 6, 4, 4, 4, 4, 5, 4]);
    assert!(a.verdicts().iter().all(|v| *v == Verdict::No));
    assert!(a.needs_recollection());
    assert!(a.identified().is_empty());
    assert!(a.primary().is_empty());
    assert_eq!(RECOLLECT_AFTER_DAYS, 14);
}

// ---- enums and sets ----

#[test]
fn constitution_ids_and_names() {
    let pinyin = [
        "pinghe", "qixu", "yangxu", "yinxu", "tanshi", "shire", "xueyu", "qiyu", "tebing",
    ];
    let zh = [
        "平和质",
        "气虚质",
        "阳虚质",
        "阴虚质",
        "痰湿质",
        "湿热质",
        "血瘀质",
        "气郁质",
        "特禀质",
    ];
    for (i, c) in Constitution::ALL.into_iter().enumerate() {
        assert_eq!(c.index(), i);
        assert_eq!(c as u8, i as u8);
        assert_eq!(Constitution::from_index(i as u8), Some(c));
        assert_eq!(c.pinyin(), pinyin[i]);
        assert_eq!(Constitution::from_pinyin(pinyin[i]), Some(c));
        assert_eq!(c.name_zh(), zh[i]);
        assert_eq!(c.is_biased(), i != 0);
    }
    assert_eq!(Constitution::from_index(9), None);
    assert_eq!(Constitution::from_pinyin("Qixu"), None);
    assert_eq!(Constitution::Tanshi.name_en(), "Phlegm-dampness");
    assert_eq!(Constitution::Pinghe.name_en(), "Balanced");
    // Form order (DOMAIN.md 1.6): 气虚, 阳虚, 阴虚, 痰湿, 湿热, 血瘀, 气郁, 特禀, 平和.
    let form: Vec<_> = Constitution::FORM_ORDER
        .iter()
        .map(|c| c.name_zh())
        .collect();
    assert_eq!(
        form,
        [
            "气虚质",
            "阳虚质",
            "阴虚质",
            "痰湿质",
            "湿热质",
            "血瘀质",
            "气郁质",
            "特禀质",
            "平和质"
        ]
    );
}

#[test]
fn verdict_ids() {
    let ids = ["no", "tendency", "yes", "basically_yes"];
    let zh = ["否", "倾向是", "是", "基本是"];
    for (i, v) in Verdict::ALL.into_iter().enumerate() {
        assert_eq!(v as u8, i as u8);
        assert_eq!(Verdict::from_u8(i as u8), Some(v));
        assert_eq!(v.as_str(), ids[i]);
        assert_eq!(v.label_zh(), zh[i]);
    }
    assert_eq!(Verdict::from_u8(4), None);
}

#[test]
fn constitution_set() {
    assert_eq!(ConstitutionSet::from_bits(0x1FF).map(|s| s.len()), Some(9));
    assert_eq!(ConstitutionSet::from_bits(0x200), None);
    assert_eq!(ConstitutionSet::from_bits(0x8000), None);
    let mut s = ConstitutionSet::empty();
    assert!(s.is_empty());
    s.insert(Constitution::Tebing);
    s.insert(Constitution::Qixu);
    s.insert(Constitution::Qixu);
    assert_eq!(s.bits(), (1 << 8) | (1 << 1));
    assert_eq!(s.len(), 2);
    assert!(s.contains(Constitution::Qixu) && !s.contains(Constitution::Pinghe));
    assert_eq!(
        s.iter().collect::<Vec<_>>(),
        [Constitution::Qixu, Constitution::Tebing]
    );
    s.remove(Constitution::Qixu);
    assert_eq!(s.bits(), 1 << 8);
}

// ---- measurements (DOMAIN.md 1.2) ----

#[test]
fn bmi_computation() {
    // 70 kg, 1.75 m: 70 / 3.0625 = 22.857… → 2286.
    assert_eq!(bmi_centi(70_000, 1750), Some(2286));
    // 60 kg, 1.60 m: 60 / 2.56 = 23.4375 → 2343.75 → 2344.
    assert_eq!(bmi_centi(60_000, 1600), Some(2344));
    // 1 m: BMI × 100 = grams / 10; 24 005 g → 2400.5 → rounds half up to 2401.
    assert_eq!(bmi_centi(24_005, 1000), Some(2401));
    assert_eq!(bmi_centi(24_004, 1000), Some(2400));
    assert_eq!(bmi_centi(70_000, 0), None);
    // 4 294 967 295 g at 1 mm does not fit.
    assert_eq!(bmi_centi(u32::MAX, 1), None);
    // 4 294 967 295 g at 65.535 m: 4.29e14 / 4.29e9 ≈ 100 000 → fits.
    assert!(bmi_centi(u32::MAX, u16::MAX).is_some());
}

#[test]
fn item9_bands() {
    // <24 → 1, 24≤<25 → 2, 25≤<26 → 3, 26≤<28 → 4, ≥28 → 5.
    for (bmi, score) in [
        (0, 1),
        (2399, 1),
        (2400, 2),
        (2499, 2),
        (2500, 3),
        (2599, 3),
        (2600, 4),
        (2799, 4),
        (2800, 5),
        (u32::MAX, 5),
    ] {
        assert_eq!(item9_from_bmi_centi(bmi), score, "BMI×100 {bmi}");
    }
}

#[test]
fn item28_bands() {
    // <80 → 1, ≤85 → 2, ≤90 → 3, ≤105 → 4, >105 → 5 (cm); gaps go up.
    for (mm, score) in [
        (0, 1),
        (799, 1),
        (800, 2),
        (850, 2),
        (851, 3),
        (900, 3),
        (901, 4),
        (1050, 4),
        (1051, 5),
        (u16::MAX, 5),
    ] {
        assert_eq!(item28_from_waist_mm(mm), score, "{mm} mm");
    }
}

#[test]
fn item14_bands() {
    // <2 → 1; 2-4 → 2; 5-6 → 3; 7 (gap) → 4; 8+ → 4; almost monthly (≥ 11) → 5.
    assert_eq!(ITEM14_SEVEN_COLDS_SCORE, 4);
    assert_eq!(ITEM14_ALMOST_MONTHLY_MIN, 11);
    for (n, score) in [
        (0, 1),
        (1, 1),
        (2, 2),
        (4, 2),
        (5, 3),
        (6, 3),
        (7, 4),
        (8, 4),
        (10, 4),
        (11, 5),
        (12, 5),
        (255, 5),
    ] {
        assert_eq!(item14_from_colds_per_year(n), score, "{n} colds");
    }
}

#[test]
fn item17_bands() {
    // 0 → 1; 1-2 → 2; 3-4 → 3; 5-6 → 4; 7+ → 4 (our choice); every exposure → 5.
    assert_eq!(ITEM17_SEVEN_PLUS_SCORE, 4);
    for (n, score) in [
        (0, 1),
        (1, 2),
        (2, 2),
        (3, 3),
        (4, 3),
        (5, 4),
        (6, 4),
        (7, 4),
        (255, 4),
    ] {
        assert_eq!(item17_from_allergies_per_year(n, false), score, "{n}");
    }
    assert_eq!(item17_from_allergies_per_year(0, true), 5);
    assert_eq!(item17_from_allergies_per_year(3, true), 5);
}

#[test]
fn measurements_overwrite_items_9_and_28() {
    let mut a = [1u8; 33];
    // BMI 26.00 → 4; waist 95.0 cm → 4.
    assert_eq!(apply_measurements(&mut a, Some(2600), Some(950)), Ok(()));
    let mut expected = [1u8; 33];
    expected[8] = 4;
    expected[27] = 4;
    assert_eq!(a, expected);
    // 痰湿 = item 9 (4) + 16 (1) + 28 (4) + 32 (1) = 10 → 倾向是.
    let r = ok(&a);
    assert_eq!(r.score(Constitution::Tanshi), 10);
    assert_eq!(r.verdict(Constitution::Tanshi), Verdict::Tendency);
    // None leaves the answers alone.
    assert_eq!(apply_measurements(&mut a, None, None), Ok(()));
    assert_eq!(a, expected);
    assert_eq!(apply_measurements(&mut a, Some(2000), None), Ok(()));
    assert_eq!((a[8], a[27]), (1, 4));
}

use crate::record::ValidationError as V;

#[test]
fn implausible_measurements_are_errors_and_write_nothing() {
    let mut a = [3u8; 33];
    // 0 is a measured value (and implausible), not "not measured" (that is None).
    assert_eq!(
        apply_measurements(&mut a, Some(0), None),
        Err(MeasurementError::BmiOutOfRange(0))
    );
    assert_eq!(
        apply_measurements(&mut a, None, Some(0)),
        Err(MeasurementError::Implausible(V::WaistOutOfRange(0)))
    );
    // BMI 655.35, the largest the Python binding could pass, was taken as item 9 = 5.
    assert_eq!(
        apply_measurements(&mut a, Some(65_535), None),
        Err(MeasurementError::BmiOutOfRange(65_535))
    );
    // Range ends: BMI 4.13..=300.00, waist 400..=1800 mm (vital-signs range).
    for bmi in [412, 30_001, u32::MAX] {
        assert_eq!(
            apply_measurements(&mut a, Some(bmi), None),
            Err(MeasurementError::BmiOutOfRange(bmi))
        );
    }
    for waist in [399, 1801, u16::MAX] {
        assert_eq!(
            apply_measurements(&mut a, None, Some(waist)),
            Err(MeasurementError::Implausible(V::WaistOutOfRange(waist)))
        );
    }
    // A plausible BMI with an implausible waist writes neither item.
    assert_eq!(
        apply_measurements(&mut a, Some(2800), Some(1)),
        Err(MeasurementError::Implausible(V::WaistOutOfRange(1)))
    );
    assert_eq!(a, [3u8; 33]);
    assert_eq!(apply_measurements(&mut a, Some(413), Some(400)), Ok(()));
    assert_eq!((a[8], a[27]), (1, 1));
    assert_eq!(apply_measurements(&mut a, Some(30_000), Some(1800)), Ok(()));
    assert_eq!((a[8], a[27]), (5, 5));
}

#[test]
fn measured_bmi_checks_weight_and_height() {
    // 60 kg at 1 mm gave no BMI (it did not fit u32) and so answered nothing silently;
    // 42 950 g at 1 mm was the first weight to do so (42 950 × 10⁵ > u32::MAX).
    assert_eq!(
        measured_bmi_centi(Some(60_000), Some(1)),
        Err(MeasurementError::Implausible(V::HeightOutOfRange(1)))
    );
    assert_eq!(
        measured_bmi_centi(Some(42_950), Some(1)),
        Err(MeasurementError::Implausible(V::HeightOutOfRange(1)))
    );
    assert_eq!(
        measured_bmi_centi(Some(u32::MAX), Some(1600)),
        Err(MeasurementError::Implausible(V::WeightOutOfRange(u32::MAX)))
    );
    // Each is checked even without the other; one alone gives no BMI.
    assert_eq!(
        measured_bmi_centi(Some(1), None),
        Err(MeasurementError::Implausible(V::WeightOutOfRange(1)))
    );
    assert_eq!(
        measured_bmi_centi(None, Some(2201)),
        Err(MeasurementError::Implausible(V::HeightOutOfRange(2201)))
    );
    assert_eq!(measured_bmi_centi(Some(70_000), None), Ok(None));
    assert_eq!(measured_bmi_centi(None, Some(1600)), Ok(None));
    assert_eq!(measured_bmi_centi(None, None), Ok(None));
    // 70 kg at 1.60 m: 70 / 2.56 = 27.34375 → 2734.
    assert_eq!(measured_bmi_centi(Some(70_000), Some(1600)), Ok(Some(2734)));
}

#[test]
fn bmi_range_is_the_vital_signs_extremes() {
    // The lightest plausible weight at the tallest plausible height, and the heaviest at
    // the shortest: 20 kg / 2.2² m² = 4.132 → 413; 300 kg / 1 m² = 300 → 30 000.
    assert_eq!(
        measured_bmi_centi(Some(20_000), Some(2200)),
        Ok(Some(BMI_RANGE_CENTI.0))
    );
    assert_eq!(
        measured_bmi_centi(Some(300_000), Some(1000)),
        Ok(Some(BMI_RANGE_CENTI.1))
    );
    // ... and those are the ends of the vital-signs ranges: one step further is refused.
    assert_eq!(
        measured_bmi_centi(Some(19_999), None),
        Err(MeasurementError::Implausible(V::WeightOutOfRange(19_999)))
    );
    assert_eq!(
        measured_bmi_centi(Some(300_001), None),
        Err(MeasurementError::Implausible(V::WeightOutOfRange(300_001)))
    );
    assert_eq!(
        measured_bmi_centi(None, Some(999)),
        Err(MeasurementError::Implausible(V::HeightOutOfRange(999)))
    );
    assert_eq!(
        measured_bmi_centi(None, Some(2201)),
        Err(MeasurementError::Implausible(V::HeightOutOfRange(2201)))
    );
}

// ---- guidance ----

/// Whether `code` is a WHO acupoint code in its canonical spelling (the acupoint table
/// validates meridian and point range; the catalogue must not rely on aliases or case).
fn is_who_acupoint(code: &str) -> bool {
    crate::codes::acupoint::Acupoint::parse(code).is_ok_and(|a| a.to_string() == code)
}

#[test]
fn acupoint_validator_rejects_bad_codes() {
    for bad in [
        "ST46", "LR15", "ST0", "ST036", "XX1", "st36", "", "EX-HN99", "HT10",
    ] {
        assert!(!is_who_acupoint(bad), "{bad}");
    }
    for good in ["ST36", "LR14", "BL67", "CV8", "EX-HN3"] {
        assert!(is_who_acupoint(good), "{good}");
    }
}

#[test]
fn guidance_catalogue_is_complete() {
    for c in Constitution::ALL {
        let g = guidance(c);
        assert_eq!(g.constitution, c);
        let cats: Vec<_> = g.advice.iter().map(|a| a.category).collect();
        assert_eq!(cats, ADVICE_CATEGORIES);
        for a in &g.advice {
            assert!(
                !a.zh.is_empty() && !a.en.is_empty(),
                "{c:?} {:?}",
                a.category
            );
            assert!(a.en.is_ascii(), "{c:?} {:?}: English text", a.category);
        }
        assert!(!g.acupoints.is_empty(), "{c:?}");
        for code in g.acupoints {
            assert!(is_who_acupoint(code), "{c:?}: {code}");
            // Every listed acupoint is named in the acupoint advice.
            let en = g.advice_for(GuidanceCategory::Acupoint).map(|a| a.en);
            assert!(en.is_some_and(|t| t.contains(code)), "{c:?}: {code}");
        }
        assert!(g.advice_for(GuidanceCategory::Other).is_none());
    }
    // Spot checks from the brief: 气虚 → 足三里 ST36, 气海 CV6, 关元 CV4; 黄芪 in the diet.
    let q = guidance(Constitution::Qixu);
    for code in ["ST36", "CV6", "CV4"] {
        assert!(q.acupoints.contains(&code));
    }
    assert!(q.advice[1].zh.contains("黄芪"));
}

#[test]
fn guidance_categories_and_set() {
    let zh = [
        "情志调摄",
        "饮食调养",
        "起居调摄",
        "运动保健",
        "穴位保健",
        "其他",
    ];
    for (i, g) in GuidanceCategory::ALL.into_iter().enumerate() {
        assert_eq!(g.index(), i);
        assert_eq!(g.form_number() as usize, i + 1);
        assert_eq!(GuidanceCategory::from_index(i as u8), Some(g));
        assert_eq!(g.name_zh(), zh[i]);
        assert!(!g.name_en().is_empty());
    }
    assert_eq!(GuidanceCategory::from_index(6), None);
    assert_eq!(GuidanceSet::from_bits(0x3F).map(|s| s.len()), Some(6));
    assert_eq!(GuidanceSet::from_bits(0x40), None);
    assert_eq!(GuidanceSet::from_bits(0x80), None);
    let mut s = GuidanceSet::empty();
    assert!(s.is_empty());
    s.insert(GuidanceCategory::Other);
    s.insert(GuidanceCategory::Diet);
    assert_eq!(s.bits(), 0b10_0010);
    assert!(s.contains(GuidanceCategory::Diet) && !s.contains(GuidanceCategory::Emotion));
    assert_eq!(
        s.iter().collect::<Vec<_>>(),
        [GuidanceCategory::Diet, GuidanceCategory::Other]
    );
}

// ---- properties ----

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_and_errors_iff_out_of_range(a in proptest::array::uniform::<_, 33>(any::<u8>())) {
            let first_bad = a.iter().position(|v| !(1..=5).contains(v));
            match (assess(&a), first_bad) {
                (Ok(_), None) => {}
                (Err(ConstitutionError::AnswerOutOfRange { item, value }), Some(i)) => {
                    prop_assert_eq!(usize::from(item), i + 1);
                    prop_assert_eq!(value, a[i]);
                }
                (r, b) => prop_assert!(false, "{:?} vs {:?}", r, b),
            }
        }

        #[test]
        fn scores_and_verdicts_follow_the_table(a in proptest::array::uniform::<_, 33>(1u8..=5)) {
            let r = assess(&a).unwrap();
            let at = |item: u8| a[usize::from(item) - 1];
            // Independent restatement of DOMAIN.md 1.4 / 1.5.
            let pinghe = at(1) + (6 - at(2)) + (6 - at(4)) + (6 - at(5)) + (6 - at(13));
            prop_assert_eq!(r.score(Constitution::Pinghe), pinghe);
            let mut max_other = 0;
            for c in Constitution::BIASED {
                let s: u8 = c.items().iter().map(|&i| at(i)).sum();
                prop_assert_eq!(r.score(c), s);
                prop_assert!((4..=20).contains(&s));
                let v = if s >= 11 { Verdict::Yes } else if s >= 9 { Verdict::Tendency } else { Verdict::No };
                prop_assert_eq!(r.verdict(c), v);
                max_other = max_other.max(s);
            }
            let v = if pinghe >= 17 && max_other <= 8 {
                Verdict::Yes
            } else if pinghe >= 17 && max_other <= 10 {
                Verdict::BasicallyYes
            } else {
                Verdict::No
            };
            prop_assert_eq!(r.verdict(Constitution::Pinghe), v);
            prop_assert_eq!(r.answers(), &a);
            prop_assert_eq!(r.needs_recollection(), r.identified().is_empty());
            // Primary ⊆ identified; empty only when recollection is needed.
            prop_assert_eq!(r.primary().bits() & !r.identified().bits(), 0);
            prop_assert_eq!(r.primary().is_empty(), r.needs_recollection());
        }
    }
}
