// The course finder against a loopback stub of the Serper API: lines only from search results,
// in the frontend's exact format, and the 503 when web search is not configured.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { courseLineOf, findCourses, platformOf, priceIn, ratingIn } from "#shared/generation/courses.ts";
import { createSerperWebSearch, createUnconfiguredWebSearch, WEB_SEARCH_NOT_CONFIGURED } from "#shared/web/search.ts";
import { courseLinesProblems } from "#test/support/frontend-parsers.ts";

const ORGANIC = [
  {
    title: "Photosynthesis and Plant Biology Course",
    link: "https://www.coursera.org/learn/plant-biology",
    snippet: "Rating: 4.7 out of 5 (2,310 reviews). Enroll for free. Learn how plants capture light.",
  },
  {
    title: "Complete Botany Masterclass [2026]",
    link: "https://www.udemy.com/course/botany-masterclass/",
    snippet: "Bestseller · 4.6 stars · $84.99 · 12 hours of video",
  },
  {
    title: "Photosynthesis Training for Teachers",
    link: "https://learn.example-academy.org/photosynthesis",
    snippet: "Price $1,299 for the full certificate.",
    rating: 4.85,
  },
  {
    title: "Photosynthesis - Wikipedia",
    link: "https://en.wikipedia.org/wiki/Photosynthesis",
    snippet: "Rated 5/5, free.",
  },
  { title: "Plant Biology Tutorial", link: "https://www.khanacademy.org/science/biology", snippet: "Free lessons." },
  {
    title: "Photosynthesis course",
    link: "https://www.coursera.org/learn/plant-biology",
    snippet: "Duplicate of the first result. 4.7/5, free.",
  },
];

let server: Server;
let baseUrl: string;
let organic: unknown[] = ORGANIC;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ organic }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("course finder", () => {
  it("answers lines the frontend parses, with URLs from the search results only", async () => {
    // Prepare
    organic = ORGANIC;
    const search = createSerperWebSearch({ apiKey: "k", baseUrl });

    // Act
    const found = await findCourses({ search }, "photosynthesis");

    // Assess
    expect(courseLinesProblems(found.text, new Set(ORGANIC.map((result) => result.link)))).toEqual([]);
    expect(found.text.split("\n")).toEqual([
      "[Photosynthesis and Plant Biology Course](https://www.coursera.org/learn/plant-biology) - Platform: Coursera | Rating: 4.7/5 | Price: Free",
      "[Complete Botany Masterclass 2026](https://www.udemy.com/course/botany-masterclass/) - Platform: Udemy | Rating: 4.6/5 | Price: $84.99",
      "[Photosynthesis Training for Teachers](https://learn.example-academy.org/photosynthesis) - Platform: learn.example-academy.org | Rating: 4.9/5 | Price: $1299",
    ]);
    expect(found.considered).toBe(ORGANIC.length);
  });

  it("says so in a sentence, with no lines, when no result states a rating and a price", async () => {
    // Prepare
    organic = [{ title: "Intro to Botany Course", link: "https://www.edx.org/learn/botany", snippet: "Self-paced." }];
    const search = createSerperWebSearch({ apiKey: "k", baseUrl });

    // Act
    const found = await findCourses({ search }, "botany");

    // Assess
    expect(found.courses).toEqual([]);
    expect(found.text).toBe(
      'No course with a published rating and price was found for "botany" in the web search results.',
    );
  });

  it("answers 503 when web search is not configured", async () => {
    // Act
    const error = await findCourses({ search: createUnconfiguredWebSearch() }, "x").catch(
      (failure: unknown) => failure,
    );

    // Assess
    expect(error).toMatchObject({ statusCode: 503, message: WEB_SEARCH_NOT_CONFIGURED });
  });

  it("reads ratings, prices and platforms only where the result states them", () => {
    // Assess
    expect(ratingIn("Rated 4.55 out of 5")).toBe("4.6/5");
    expect(ratingIn("★ 4.9 (120)")).toBe("4.9/5");
    expect(ratingIn("Rating: 8.5/10")).toBeUndefined();
    expect(ratingIn("Top course")).toBeUndefined();
    expect(priceIn("Only US$19.00 today")).toBe("$19");
    expect(priceIn("Start your free trial")).toBeUndefined();
    expect(priceIn("Free to audit")).toBe("Free");
    expect(platformOf("https://ocw.mit.edu/courses/x")).toBe("MIT OpenCourseWare");
    expect(
      courseLineOf({ title: "Biology notes", url: "https://a.example/x", snippet: "4.5/5, free" }),
    ).toBeUndefined();
  });
});
