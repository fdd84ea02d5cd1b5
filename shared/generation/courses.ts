// Course finder: the contract's lines `[Course Name](URL) - Platform: X | Rating: 4.7/5 | Price: $49`
// built only from web search results. Policy: a result becomes a line only when its title names a
// course (course/training/tutorial/certification/learn/class/program) AND its snippet (or the
// search engine's structured data) states a rating out of 5 and a price or "free". Results missing
// either are left out rather than given invented values; no model is involved, because everything
// a line holds is in the search results and a model could only add values that are not.
import type { WebSearch, WebSearchResult } from "../web/search.ts";

export interface CourseLine {
  title: string;
  url: string;
  platform: string;
  rating: string;
  price: string;
}

export interface CourseSearchResult {
  /** The course lines joined by newlines, or a sentence saying none qualified. */
  text: string;
  courses: CourseLine[];
  /** Search results considered (for citations or a "more results" link). */
  considered: number;
}

export interface CourseFinderDeps {
  search: WebSearch;
  signal?: AbortSignal;
}

const COURSE_WORDS = /course|training|tutorial|certification|learn|class|program/i;
const MAX_COURSES = 8;
const SEARCH_RESULTS = 20;

const PLATFORMS: Array<[RegExp, string]> = [
  [/(^|\.)coursera\.org$/, "Coursera"],
  [/(^|\.)udemy\.com$/, "Udemy"],
  [/(^|\.)edx\.org$/, "edX"],
  [/(^|\.)khanacademy\.org$/, "Khan Academy"],
  [/(^|\.)udacity\.com$/, "Udacity"],
  [/(^|\.)futurelearn\.com$/, "FutureLearn"],
  [/(^|\.)skillshare\.com$/, "Skillshare"],
  [/(^|\.)pluralsight\.com$/, "Pluralsight"],
  [/(^|\.)codecademy\.com$/, "Codecademy"],
  [/(^|\.)datacamp\.com$/, "DataCamp"],
  [/(^|\.)linkedin\.com$/, "LinkedIn Learning"],
  [/(^|\.)youtube\.com$|(^|\.)youtu\.be$/, "YouTube"],
  [/^ocw\.mit\.edu$/, "MIT OpenCourseWare"],
  [/(^|\.)classcentral\.com$/, "Class Central"],
  [/(^|\.)alison\.com$/, "Alison"],
  [/(^|\.)openlearn\.open\.ac\.uk$|(^|\.)open\.edu$/, "OpenLearn"],
];

/** The platform named after the URL's host (known platforms by name, others by their domain). */
export function platformOf(url: string): string {
  const host = new URL(url).hostname.toLowerCase().replace(/^www\./, "");
  return PLATFORMS.find(([pattern]) => pattern.test(host))?.[1] ?? host;
}

/** A rating out of 5 stated in the text ("4.7 out of 5", "Rating: 4.6", "4.8/5", "4.5 stars", "★ 4.9"). */
export function ratingIn(text: string): string | undefined {
  const patterns = [
    /\b([0-5](?:\.\d{1,2})?)\s*(?:out of|\/)\s*5\b/i,
    /\brat(?:ing|ed)\s*:?\s*([0-5](?:\.\d{1,2})?)\b(?!\s*\/\s*(?:10|100))/i,
    /\b([0-5](?:\.\d{1,2})?)\s*(?:stars?|★)/i,
    /★\s*([0-5](?:\.\d{1,2})?)\b/,
  ];
  for (const pattern of patterns) {
    const value = Number(pattern.exec(text)?.[1]);
    if (Number.isFinite(value) && value > 0 && value <= 5) return formatRating(value);
  }
  return undefined;
}

function formatRating(value: number): string {
  // The frontend accepts one decimal at most ("4.7/5", "5/5").
  const rounded = Math.round(value * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)}/5`;
}

/** A price stated in the text: "$49", "$1,299.99" (as "$1299.99"), or "Free" for free/free-to-audit courses. */
export function priceIn(text: string): string | undefined {
  const dollars = /(?:US)?\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?\b/.exec(text);
  if (dollars?.[1]) {
    const whole = dollars[1].replace(/,/g, "");
    return dollars[2] && dollars[2] !== "00" ? `$${whole}.${dollars[2]}` : `$${whole}`;
  }
  if (/\bfree\b|\bno cost\b|\$0\b/i.test(text) && !/free trial/i.test(text)) return "Free";
  return undefined;
}

function cleanTitle(title: string): string {
  // Square brackets would end the Markdown link text early.
  return title.replace(/[[\]]/g, "").replace(/\s+/g, " ").trim();
}

/** The course line of one search result, or undefined when the policy leaves it out. */
export function courseLineOf(result: WebSearchResult): CourseLine | undefined {
  const title = cleanTitle(result.title);
  if (!COURSE_WORDS.test(title) || /[()]/.test(result.url)) return undefined;
  const rating = result.rating !== undefined ? formatRating(result.rating) : ratingIn(result.snippet);
  const price = priceIn(result.snippet) ?? priceIn(title);
  if (!rating || !price) return undefined;
  return { title, url: result.url, platform: platformOf(result.url).replace(/\|/g, "/"), rating, price };
}

/** Formats a course line exactly as the frontend parses it. */
export function formatCourseLine(course: CourseLine): string {
  return `[${course.title}](${course.url}) - Platform: ${course.platform} | Rating: ${course.rating} | Price: ${course.price}`;
}

/** Courses about `topic` from web search results only (503 when web search is not configured). */
export async function findCourses(deps: CourseFinderDeps, topic: string): Promise<CourseSearchResult> {
  const subject = topic.trim().replace(/\s+/g, " ").slice(0, 200);
  const results = await deps.search.search(`${subject} online course`, {
    limit: SEARCH_RESULTS,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  const seen = new Set<string>();
  const courses: CourseLine[] = [];
  for (const result of results) {
    const line = courseLineOf(result);
    if (!line || seen.has(line.url)) continue;
    seen.add(line.url);
    courses.push(line);
    if (courses.length >= MAX_COURSES) break;
  }
  const text =
    courses.length > 0
      ? courses.map(formatCourseLine).join("\n")
      : `No course with a published rating and price was found for "${subject}" in the web search results.`;
  return { text, courses, considered: results.length };
}
