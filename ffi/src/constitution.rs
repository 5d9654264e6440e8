//! Constitution identification (中医体质辨识): scoring the 33-item form, names and the
//! guidance catalogue.

use std::ffi::c_char;

use tcmcare_core::constitution::{
    apply_measurements, assess, guidance, measured_bmi_centi, Constitution, ConstitutionError,
    GuidanceCategory, Verdict, ITEM_COUNT,
};

use crate::boundary;
use crate::buffer;
use crate::record::{TCM_CONSTITUTION_COUNT, TCM_ITEM_COUNT};
use crate::status::{fail, measurement_error, tcm_status, validation_error};

/// The nine constitution types; the value is the index of every per-type array.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_constitution {
    /// 平和质, balanced.
    Pinghe = 0,
    /// 气虚质, qi deficiency.
    Qixu = 1,
    /// 阳虚质, yang deficiency.
    Yangxu = 2,
    /// 阴虚质, yin deficiency.
    Yinxu = 3,
    /// 痰湿质, phlegm-dampness.
    Tanshi = 4,
    /// 湿热质, damp-heat.
    Shire = 5,
    /// 血瘀质, blood stasis.
    Xueyu = 6,
    /// 气郁质, qi stagnation.
    Qiyu = 7,
    /// 特禀质, special diathesis.
    Tebing = 8,
}

/// The verdict for one constitution type (判定结果).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_verdict {
    /// 否.
    No = 0,
    /// 倾向是 (biased types only).
    Tendency = 1,
    /// 是.
    Yes = 2,
    /// 基本是 (平和质 only).
    BasicallyYes = 3,
}

/// A guidance area of the form (中医药保健指导); as a set member its bit is `1 << value`.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_guidance_category {
    /// 情志调摄, emotional regulation.
    Emotion = 0,
    /// 饮食调养, dietary care.
    Diet = 1,
    /// 起居调摄, daily-life regimen.
    DailyLife = 2,
    /// 运动保健, exercise.
    Exercise = 3,
    /// 穴位保健, acupoint self-care.
    Acupoint = 4,
    /// 其他, other (free text per record; no catalogue text).
    Other = 5,
}

/// Which form of a name or text to write.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum tcm_text_form {
    /// The stable machine id (`"qixu"`, `"basically_yes"`), for storage and JSON.
    Id = 0,
    /// Chinese, as on the form.
    Zh = 1,
    /// English.
    En = 2,
}

/// The outcome of scoring the 33 answers.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct tcm_constitution_assessment {
    /// Scores indexed by `tcm_constitution` (4..=20 for biased types, 5..=25 for 平和质).
    pub scores: [u8; TCM_CONSTITUTION_COUNT],
    /// Verdicts indexed by `tcm_constitution`.
    pub verdicts: [tcm_verdict; TCM_CONSTITUTION_COUNT],
    /// Identified types (verdict other than NO): bit `1 << c` per `tcm_constitution` c.
    pub identified: u16,
    /// Primary type(s) that guidance is based on: the identified biased types with the
    /// highest score (several when tied: a TCM physician chooses), else 平和质 if
    /// identified, else none. Bit `1 << c` per `tcm_constitution` c.
    pub primary: u16,
    /// 1 when no type is identified: re-collect the form (after 14 days) or investigate.
    pub needs_recollection: u8,
    /// 1 when contradictory types are both YES: re-check the answers.
    pub has_contradiction: u8,
}

fn c_verdict(v: Verdict) -> tcm_verdict {
    match v {
        Verdict::No => tcm_verdict::No,
        Verdict::Tendency => tcm_verdict::Tendency,
        Verdict::Yes => tcm_verdict::Yes,
        Verdict::BasicallyYes => tcm_verdict::BasicallyYes,
    }
}

fn form(value: u8) -> Result<tcm_text_form, tcm_status> {
    match value {
        0 => Ok(tcm_text_form::Id),
        1 => Ok(tcm_text_form::Zh),
        2 => Ok(tcm_text_form::En),
        v => Err(fail(
            tcm_status::InvalidArgument,
            format_args!("form: {v} is not a tcm_text_form"),
        )),
    }
}

fn constitution(value: u8) -> Result<Constitution, tcm_status> {
    Constitution::from_index(value).ok_or_else(|| {
        fail(
            tcm_status::InvalidArgument,
            format_args!("constitution: {value} is not a tcm_constitution"),
        )
    })
}

fn category(value: u8) -> Result<GuidanceCategory, tcm_status> {
    GuidanceCategory::from_index(value).ok_or_else(|| {
        fail(
            tcm_status::InvalidArgument,
            format_args!("category: {value} is not a tcm_guidance_category"),
        )
    })
}

fn no_such_form(what: &str, f: tcm_text_form) -> tcm_status {
    fail(
        tcm_status::InvalidArgument,
        format_args!("{what} has no {f:?} form"),
    )
}

/// Scores the 33 answers (`answers[0]` is item 1, each 1..=5) per the national form and
/// writes scores, verdicts, identified and primary types into `*out`. An answer outside
/// 1..=5 gives `TCM_STATUS_ANSWER_OUT_OF_RANGE` (the detail names the first such item).
///
/// # Safety
/// `answers` points to 33 readable bytes; `out` to writable memory for a
/// `tcm_constitution_assessment`.
#[no_mangle]
pub unsafe extern "C" fn tcm_constitution_assess(
    answers: *const u8,
    out: *mut tcm_constitution_assessment,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let input = unsafe { buffer::input(answers, TCM_ITEM_COUNT, "answers")? };
        buffer::non_null(out, "out")?;
        let mut items = [0u8; ITEM_COUNT];
        items.copy_from_slice(input);
        let a = assess(&items).map_err(|e| match e {
            ConstitutionError::AnswerOutOfRange { item, value } => {
                validation_error(tcmcare_core::record::ValidationError::AnswerOutOfRange {
                    item,
                    value,
                })
            }
        })?;
        let result = tcm_constitution_assessment {
            scores: a.scores(),
            verdicts: a.verdicts().map(c_verdict),
            identified: a.identified().bits(),
            primary: a.primary().bits(),
            needs_recollection: u8::from(a.needs_recollection()),
            has_contradiction: u8::from(a.has_contradiction()),
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::put(out, result, "out") }
    })
}

/// Overwrites item 9 (BMI) and item 28 (waist) of `answers` from measurements, as the
/// form says to when they are measured: item 9 from `weight_g` and `height_mm` (both
/// non-zero), item 28 from `waist_mm` (non-zero). Pass 0 for what was not measured (0 is
/// this function's "not measured"; the Python binding's is `None`); other answers are
/// untouched.
///
/// Every non-zero value is checked first with the plausibility ranges of a vital-signs
/// record (weight 20..=300 kg, height 100..=220 cm, waist 40..=180 cm), a lone weight or
/// height included: an implausible one gives `TCM_STATUS_WEIGHT_OUT_OF_RANGE`,
/// `TCM_STATUS_HEIGHT_OUT_OF_RANGE` or `TCM_STATUS_WAIST_OUT_OF_RANGE` and leaves every
/// answer unchanged. (`TCM_STATUS_BMI_OUT_OF_RANGE` cannot occur here: plausible weights
/// and heights always give a plausible BMI.)
///
/// # Safety
/// `answers` points to 33 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn tcm_constitution_apply_measurements(
    answers: *mut u8,
    weight_g: u32,
    height_mm: u16,
    waist_mm: u16,
) -> tcm_status {
    boundary(|| {
        // SAFETY: caller contract of this function.
        let items = unsafe { buffer::output(answers, TCM_ITEM_COUNT, "answers")? };
        let mut copy = [0u8; ITEM_COUNT];
        copy.copy_from_slice(items);
        // 0 is "not measured" in this ABI; core's is None.
        let weight = (weight_g != 0).then_some(weight_g);
        let height = (height_mm != 0).then_some(height_mm);
        let waist = (waist_mm != 0).then_some(waist_mm);
        let bmi = measured_bmi_centi(weight, height).map_err(measurement_error)?;
        apply_measurements(&mut copy, bmi, waist).map_err(measurement_error)?;
        items.copy_from_slice(&copy);
        Ok(())
    })
}

/// Writes the name of a constitution type: `TCM_TEXT_FORM_ID` the pinyin id (`"qixu"`),
/// `TCM_TEXT_FORM_ZH` the Chinese name (`"气虚质"`), `TCM_TEXT_FORM_EN` the English name.
/// Buffer rules as for `tcm_status_message()`.
///
/// # Safety
/// `buf` points to `len` writable bytes (or is NULL with `len == 0`); `written` to a
/// writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn tcm_constitution_name(
    constitution: u8,
    form: u8,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        let c = self::constitution(constitution)?;
        let s = match self::form(form)? {
            tcm_text_form::Id => c.pinyin(),
            tcm_text_form::Zh => c.name_zh(),
            tcm_text_form::En => c.name_en(),
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_str(s, buf, len, written) }
    })
}

/// Writes the name of a verdict: `TCM_TEXT_FORM_ID` (`"basically_yes"`) or
/// `TCM_TEXT_FORM_ZH` (`"基本是"`); there is no separate English form.
///
/// # Safety
/// As for `tcm_constitution_name()`.
#[no_mangle]
pub unsafe extern "C" fn tcm_verdict_name(
    verdict: u8,
    form: u8,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        let v = Verdict::from_u8(verdict).ok_or_else(|| {
            fail(
                tcm_status::InvalidArgument,
                format_args!("verdict: {verdict} is not a tcm_verdict"),
            )
        })?;
        let s = match self::form(form)? {
            tcm_text_form::Id => v.as_str(),
            tcm_text_form::Zh => v.label_zh(),
            f @ tcm_text_form::En => return Err(no_such_form("a verdict", f)),
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_str(s, buf, len, written) }
    })
}

/// Writes the name of a guidance category: `TCM_TEXT_FORM_ZH` (`"饮食调养"`) or
/// `TCM_TEXT_FORM_EN` (`"Dietary care"`); categories have no id form (use the number).
///
/// # Safety
/// As for `tcm_constitution_name()`.
#[no_mangle]
pub unsafe extern "C" fn tcm_guidance_category_name(
    category: u8,
    form: u8,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        let c = self::category(category)?;
        let s = match self::form(form)? {
            tcm_text_form::Zh => c.name_zh(),
            tcm_text_form::En => c.name_en(),
            f @ tcm_text_form::Id => return Err(no_such_form("a guidance category", f)),
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_str(s, buf, len, written) }
    })
}

/// Writes the catalogue advice for one constitution in one guidance category, in Chinese
/// (`TCM_TEXT_FORM_ZH`) or English (`TCM_TEXT_FORM_EN`): the starting point for the staff
/// member giving the advice. `TCM_GUIDANCE_CATEGORY_OTHER` has no catalogue text
/// (`TCM_STATUS_INVALID_ARGUMENT`). Buffer rules as for `tcm_status_message()`.
///
/// # Safety
/// As for `tcm_constitution_name()`.
#[no_mangle]
pub unsafe extern "C" fn tcm_constitution_guidance(
    constitution: u8,
    category: u8,
    form: u8,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> tcm_status {
    boundary(|| {
        let c = self::constitution(constitution)?;
        let cat = self::category(category)?;
        let f = self::form(form)?;
        let advice = guidance(c).advice_for(cat).ok_or_else(|| {
            fail(
                tcm_status::InvalidArgument,
                "category: 'other' is free text, the catalogue has no advice for it",
            )
        })?;
        let s = match f {
            tcm_text_form::Zh => advice.zh,
            tcm_text_form::En => advice.en,
            tcm_text_form::Id => return Err(no_such_form("guidance advice", f)),
        };
        // SAFETY: caller contract of this function.
        unsafe { buffer::write_str(s, buf, len, written) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_core() {
        for c in Constitution::ALL {
            assert_eq!(constitution(c.index() as u8), Ok(c));
        }
        assert_eq!(
            tcm_constitution::Tebing as usize,
            Constitution::Tebing.index()
        );
        assert_eq!(
            tcm_constitution::Pinghe as usize,
            Constitution::Pinghe.index()
        );
        for v in Verdict::ALL {
            assert_eq!(c_verdict(v) as u8, v as u8);
        }
        for g in GuidanceCategory::ALL {
            assert_eq!(category(g.index() as u8), Ok(g));
        }
        assert_eq!(
            tcm_guidance_category::Other as usize,
            GuidanceCategory::Other.index()
        );
    }
}
