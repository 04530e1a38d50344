/**
 * Examples for the document, taken from the real catalog (goodbooks-10k, CC BY-SA 4.0, as seeded by dev/seed.ts):
 * what GET /v1/products, /v1/products/the-hunger-games and /v1/categories answered on the seeded dev database.
 */
export const productListExample = {
  "data": [
    {
      "id": 1,
      "slug": "the-hunger-games",
      "name": "The Hunger Games",
      "subtitle": "The Hunger Games, #1",
      "authors": [
        {
          "slug": "suzanne-collins",
          "name": "Suzanne Collins"
        }
      ],
      "category": {
        "slug": "young-adult",
        "name": "Young Adult",
        "path": "books/young-readers/young-adult"
      },
      "price": {
        "from": {
          "amount": 499,
          "currency": "USD"
        },
        "to": {
          "amount": 1799,
          "currency": "USD"
        }
      },
      "formats": [
        "ebook",
        "hardcover",
        "paperback"
      ],
      "rating": {
        "average": 4.34,
        "count": 4780653
      },
      "image": {
        "alt": "Cover of The Hunger Games",
        "url": "https://images.gr-assets.com/books/1447303603m/2767052.jpg",
        "thumbUrl": "https://images.gr-assets.com/books/1447303603s/2767052.jpg"
      },
      "in_stock": true,
      "availability": "in_stock",
      "featured": false,
      "published_year": 2008,
      "language": "en"
    },
    {
      "id": 2,
      "slug": "harry-potter-and-the-sorcerers-stone",
      "name": "Harry Potter and the Sorcerer's Stone",
      "subtitle": "Harry Potter, #1",
      "authors": [
        {
          "slug": "j-k-rowling",
          "name": "J.K. Rowling"
        },
        {
          "slug": "mary-grandpre",
          "name": "Mary GrandPré"
        }
      ],
      "category": {
        "slug": "fantasy",
        "name": "Fantasy",
        "path": "books/fiction/fantasy"
      },
      "price": {
        "from": {
          "amount": 1899,
          "currency": "USD"
        },
        "to": {
          "amount": 2899,
          "currency": "USD"
        }
      },
      "formats": [
        "hardcover",
        "paperback"
      ],
      "rating": {
        "average": 4.44,
        "count": 4602479
      },
      "image": {
        "alt": "Cover of Harry Potter and the Sorcerer's Stone",
        "url": "https://images.gr-assets.com/books/1474154022m/3.jpg",
        "thumbUrl": "https://images.gr-assets.com/books/1474154022s/3.jpg"
      },
      "in_stock": true,
      "availability": "in_stock",
      "featured": false,
      "published_year": 1997,
      "language": "en"
    }
  ],
  "page": {
    "limit": 2,
    "next_cursor": "WzEsInBvcHVsYXJpdHkiLDQ2MDI0NzksMl0",
    "has_more": true,
    "sort": "popularity"
  }
};

export const productDetailExample = {
  "data": {
    "id": 1,
    "slug": "the-hunger-games",
    "name": "The Hunger Games",
    "subtitle": "The Hunger Games, #1",
    "description": "The Hunger Games by Suzanne Collins. First published in 2008. Part of The Hunger Games, book 1.",
    "isbn13": "9780439023481",
    "isbn10": "0439023483",
    "gtin": "9780439023481",
    "language": "en",
    "published_year": 2008,
    "authors": [
      {
        "slug": "suzanne-collins",
        "name": "Suzanne Collins",
        "role": "author"
      }
    ],
    "brand": null,
    "category": {
      "slug": "young-adult",
      "name": "Young Adult",
      "path": "books/young-readers/young-adult"
    },
    "categories": [
      {
        "slug": "fiction",
        "name": "Fiction",
        "path": "books/fiction"
      },
      {
        "slug": "adventure",
        "name": "Adventure",
        "path": "books/fiction/adventure"
      },
      {
        "slug": "fantasy",
        "name": "Fantasy",
        "path": "books/fiction/fantasy"
      },
      {
        "slug": "romance",
        "name": "Romance",
        "path": "books/fiction/romance"
      },
      {
        "slug": "science-fiction",
        "name": "Science Fiction",
        "path": "books/fiction/science-fiction"
      },
      {
        "slug": "dystopian",
        "name": "Dystopian",
        "path": "books/fiction/science-fiction/dystopian"
      },
      {
        "slug": "young-adult",
        "name": "Young Adult",
        "path": "books/young-readers/young-adult"
      }
    ],
    "images": [
      {
        "alt": "Cover of The Hunger Games",
        "url": "https://images.gr-assets.com/books/1447303603m/2767052.jpg",
        "thumbUrl": "https://images.gr-assets.com/books/1447303603s/2767052.jpg"
      }
    ],
    "attributes": {
      "isbn10": "0439023483",
      "series": "The Hunger Games, #1",
      "original_title": "The Hunger Games",
      "publication_year": 2008
    },
    "price": {
      "from": {
        "amount": 499,
        "currency": "USD"
      },
      "to": {
        "amount": 1799,
        "currency": "USD"
      }
    },
    "rating": {
      "average": 4.34,
      "count": 4780653
    },
    "featured": false,
    "variants": [
      {
        "sku": "BK00001-PB",
        "name": "Paperback",
        "attributes": {
          "format": "paperback"
        },
        "price": {
          "amount": 899,
          "currency": "USD"
        },
        "status": "active",
        "availability": "out_of_stock",
        "in_stock": false,
        "backorder": false
      },
      {
        "sku": "BK00001-HC",
        "name": "Hardcover",
        "attributes": {
          "format": "hardcover"
        },
        "price": {
          "amount": 1799,
          "currency": "USD"
        },
        "status": "active",
        "availability": "in_stock",
        "in_stock": true,
        "backorder": false
      },
      {
        "sku": "BK00001-EB",
        "name": "Ebook",
        "attributes": {
          "format": "ebook"
        },
        "price": {
          "amount": 499,
          "currency": "USD"
        },
        "status": "active",
        "availability": "in_stock",
        "in_stock": true,
        "backorder": false
      }
    ],
    "version": 1,
    "updated_at": "2026-12-01T11:15:15.872948+00:00"
  }
};

export const categoryTreeExample = {
  "data": [
    {
      "slug": "books",
      "name": "Books",
      "path": "books",
      "product_count": 10000,
      "children": [
        {
          "slug": "fiction",
          "name": "Fiction",
          "path": "books/fiction",
          "product_count": 8933,
          "children": [
            {
              "slug": "fantasy",
              "name": "Fantasy",
              "path": "books/fiction/fantasy",
              "product_count": 3055,
              "children": []
            }
          ]
        }
      ]
    }
  ]
};
